//! The integration tests of salvage-language, one binary: checker cases that read like data.

#[macro_use]
mod macros;

mod check;
mod control;
mod graph_shapes;
