//go:build race

package main

// raceBuild reports that the tests run with -race: the replica tier then
// builds the demo with -race too.
const raceBuild = true
