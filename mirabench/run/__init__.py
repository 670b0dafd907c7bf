"""Running: the runner, the step scheduler, scoring, editing, importing others' outputs, the demo."""
