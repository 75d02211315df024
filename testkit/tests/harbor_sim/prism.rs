//! `prism proxy` in front of the simulator (added below).
