"""Static files of the browser UI (command-centre map)."""
