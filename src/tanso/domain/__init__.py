"""The pure core: values, rules and state transitions. Imports only the standard library."""
