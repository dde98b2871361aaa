"""What runs in a worker process: a job's files read, their items rendered, their outcomes made;
output file names and paper folders."""
