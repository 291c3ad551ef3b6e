// Placeholder for the in-browser draw check (written separately from docs/SPEC.md). Until it
// is in place this script does nothing: the "Check this draw" button stays hidden and the page
// works as without JavaScript.
