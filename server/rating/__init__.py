"""Rating I/O: discovery probes, streaming a case, running a suite, reading suite files, the terminal report."""
