//! The `profile-api` binary: parses the command line and runs a subcommand.

fn main() {}
