"""Pure core: no network, no subprocess, no files. Everything here is unit-tested without I/O."""
