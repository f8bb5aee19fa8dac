"""The framework's landing place (materials uploaded by the national organiser), rehearsals "as if today" and
the archive page after the day."""
