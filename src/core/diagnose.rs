//! Pure decision logic for probe results: outcomes (plain data) -> findings and next steps.
//! Owned by the probe work (issue 3).
