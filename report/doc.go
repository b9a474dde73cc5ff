// Package report joins what capture saw with what resolve knows into one
// Report: every TCP flow with its path, the DNS answers behind it, and a
// verdict a person can defend. The JSON rendering of a Report is a contract
// (schema vpce-verify/report/v1); the text rendering is for people.
package report
