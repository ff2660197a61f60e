//! Unit tests of the rescue algorithm against the in-process simulated bad map.
