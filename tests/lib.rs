//! Integration tests live in `integration/`; fixtures in `fixtures/`.
