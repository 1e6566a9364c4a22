//! `yibao enrol import`: placeholder until the roster reader lands.
