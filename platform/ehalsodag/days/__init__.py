"""A day from the framework: New day, the programme editor, the evaluation question bank, download and upload
of the programme file, publish and unpublish."""
