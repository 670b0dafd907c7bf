"""The user study as a web app: blinded, resumable 0-10 ratings in the browser that produce Table D (issue 21)."""
