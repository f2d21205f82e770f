package procscan

// Printable is printable, for the test that holds it equal to
// model.Printable.
var Printable = printable
