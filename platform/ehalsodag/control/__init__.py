"""The moderators' control panel: the page, and the run-of-show actions taken from it."""
