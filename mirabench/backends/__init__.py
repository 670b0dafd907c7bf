"""Shared bases plugins build on: local VLMs, API chat and editors, diffusers pipelines, VIEScore judges, prompts."""
