//! One integration test binary that drives the real `intervault` executable, as a
//! user meets it: arguments, stdin, environment, exit codes and exact stderr lines.

mod support;

mod lifecycle;
