"""One module per chain stage, named after the stage."""
