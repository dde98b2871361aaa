"""How long a run waits for files another live run has claimed (``run.renderer``; the CLI's
``--claim-wait`` default). A module of its own so that the CLI reads it without importing the run."""

# Once everything else is done, a run waits this long for files another live run has claimed; after
# that they are reported as not rendered (exit 1). Their claims are asked again every CLAIM_POLL s.
CLAIM_WAIT = 600.0
CLAIM_POLL = 0.5
