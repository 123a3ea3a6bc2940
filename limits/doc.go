// Package limits bounds what a client controls in a trusted document: its
// variables.
//
// Trusted documents fix the text of every operation, but clients still
// choose the variables, and a registered
//
//	query TopUsers($limit: Int!) { topUsers(first: $limit) { id } }
//
// is as costly as an unbounded query when sent with {"limit": 2147483647}.
// For each operation, [Limits.Plan] computes once, when the document is
// loaded, which variables feed pagination arguments and what their types
// and defaults are; [Plan.Check] then checks each request's variables:
//
//   - their size, before they are read (limits.max_variables_bytes);
//   - their coercion to the operation's variable definitions: the built-in
//     scalars exactly as the GraphQL specification coerces them (an Int is an
//     integral number within 32 bits, never a string; an integer ID becomes a
//     string), non-null and list types (a single value stands for a list of
//     one), defaults for absent variables, and no variable the operation
//     does not define. Without a schema, other named types (enums, input
//     objects, custom scalars) accept any JSON value; with one, enums are
//     checked, and input objects through gqlparser's coercion;
//   - pagination caps (limits.pagination): a variable that feeds a capped
//     argument, directly or as a member of an object argument
//     (invoices(page: {first: $n})), is held to the cap. So are the members
//     of input objects a variable passes to a field argument
//     (invoices(page: $page) with {"page": {"first": 2147483647}}), at any
//     depth and in lists: with a schema, an input field that holds a number
//     (Int, Float, a custom scalar) and is named like a capped argument has
//     that cap; without one, the fields of the variable's type are unknown,
//     so any object member named like a capped argument has it. Caps by
//     schema coordinate (Query.invoices.first, or PageInput.first for an
//     input field, which needs the schema) win over caps by argument name
//     (first); a coordinate can lift the cap of an input field that is not
//     pagination (CreditInput.limit). Without a schema the type of a nested
//     field is unknown unless a fragment's type condition names it, so only
//     caps by name apply there;
//   - the length of every list in the variables (limits.max_list_length);
//   - the nesting depth of lists and objects in them
//     (limits.max_variables_depth), checked by a loop that cannot recurse.
//
// Refusals are *envelope.Error values: LIMIT_EXCEEDED for the limits,
// VARIABLES_INVALID for coercion.
//
// What limits does not do: it does not validate documents (registration
// does, including literal arguments and unbounded pagination, which an
// absent or null variable may still mean when the argument has no default),
// and it does not apply caps to members of input objects passed only to
// directives.
package limits
