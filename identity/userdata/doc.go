// Package userdata is a client of IBM watsonx Assistant's user-data
// deletion API: [NewDeleter] returns a [ledger.UserDataDeleter] for a
// [ledger.Eraser], so that an erasure request deletes a person's chat data
// at IBM by customer_id.
//
// Each deletion is one call
//
//	DELETE {instance URL}/v2/user_data?customer_id=ID&version=2024-08-25
//
// authenticated with an IAM bearer token, which the Deleter gets from IBM
// Cloud IAM for the API key and keeps until shortly before it expires. IBM
// answers 202 Accepted; it allows about 4 deletions a minute and answers
// 429 beyond that, which the Deleter passes on as [ledger.RetryAfter] when
// IBM says how long to wait (the Eraser then waits at least that long).
//
// The API key and the bearer token never appear in an error or a log line,
// nor does the customer_id (usually an anonymous ID, a cookie value).
//
// See IBM's [API reference] and [IAM token from an API key].
//
// [API reference]: https://cloud.ibm.com/apidocs/assistant-v2#deleteuserdata
// [IAM token from an API key]: https://cloud.ibm.com/docs/account?topic=account-iamtoken_from_apikey
package userdata
