//! Engine-level tests: whole packets through flow logic to observations.
