"""Building benchmark files from upstream datasets on the user's machine (never downloaded by mirabench)."""
