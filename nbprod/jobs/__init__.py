"""Jobs: named, versioned definitions of what to run and when."""
