"""The presenter screen and the stream overlay: what is on stage (an open poll, the question on stage, the block)."""
