"""Statistics and queueing theory: numbers in, numbers out. Nothing here runs the model."""
