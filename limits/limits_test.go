package limits_test

import (
	"strings"
	"testing"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/limits"
)

func TestNew(t *testing.T) {
	schema := billing(t)
	tests := []struct {
		name      string
		cfg       config.Limits
		useSchema bool
		// want are the lines of the error; none means success.
		want []string
	}{
		{name: "default configuration without a schema", cfg: defaults()},
		{name: "default configuration with a schema", cfg: defaults(), useSchema: true},
		{
			name: "coordinates the schema has are accepted",
			cfg: with(func(c *config.Limits) {
				c.Pagination.Coordinates = map[string]int{"Query.topUsers.first": 50, "Customer.invoices.first": 20}
			}),
			useSchema: true,
		},
		{
			name:      "without a schema coordinates are not looked up",
			cfg:       with(func(c *config.Limits) { c.Pagination.Coordinates = map[string]int{"Nope.nope.nope": 5} }),
			useSchema: false,
		},
		{
			name:      "coordinate naming a field the schema lacks",
			cfg:       with(func(c *config.Limits) { c.Pagination.Coordinates = map[string]int{"Query.topUser.first": 50} }),
			useSchema: true,
			want:      []string{"limits.pagination.coordinates.Query.topUser.first: the schema has no field Query.topUser"},
		},
		{
			name:      "coordinate naming a type the schema lacks",
			cfg:       with(func(c *config.Limits) { c.Pagination.Coordinates = map[string]int{"Qurey.topUsers.first": 50} }),
			useSchema: true,
			want:      []string{"limits.pagination.coordinates.Qurey.topUsers.first: the schema has no object type Qurey"},
		},
		{
			name:      "coordinate naming an input type",
			cfg:       with(func(c *config.Limits) { c.Pagination.Coordinates = map[string]int{"PageInput.first.x": 50} }),
			useSchema: true,
			want:      []string{"limits.pagination.coordinates.PageInput.first.x: the schema has no object type PageInput"},
		},
		{
			name:      "coordinate naming an argument the schema lacks",
			cfg:       with(func(c *config.Limits) { c.Pagination.Coordinates = map[string]int{"Query.topUsers.last": 50} }),
			useSchema: true,
			want:      []string{"limits.pagination.coordinates.Query.topUsers.last: the schema has no argument last on Query.topUsers"},
		},
		{
			name: "coordinate that is neither Type.field.argument nor InputType.field",
			cfg: with(func(c *config.Limits) {
				c.Pagination.Coordinates = map[string]int{"Query.topUsers.first.x": 50, "Query": 5}
			}),
			want: []string{
				`limits.pagination.coordinates: "Query" is not a schema coordinate Type.field.argument or InputType.field`,
				`limits.pagination.coordinates: "Query.topUsers.first.x" is not a schema coordinate Type.field.argument or InputType.field`,
			},
		},
		{
			name: "coordinates of input fields the schema has are accepted",
			cfg: with(func(c *config.Limits) {
				c.Pagination.Coordinates = map[string]int{"PageInput.first": 20, "LineInput.quantity": 50}
			}),
			useSchema: true,
		},
		{
			name: "coordinate of an input field needs the schema",
			cfg:  with(func(c *config.Limits) { c.Pagination.Coordinates = map[string]int{"PageInput.first": 20} }),
			want: []string{"limits.pagination.coordinates.PageInput.first: names an input type's field (InputType.field), which needs the schema (documents.schema); an argument is named PageInput.first.<argument>"},
		},
		{
			name: "coordinate of an input field on a type that is not an input type",
			cfg: with(func(c *config.Limits) {
				c.Pagination.Coordinates = map[string]int{"Query.topUsers": 20, "PageInptu.first": 20}
			}),
			useSchema: true,
			want: []string{
				"limits.pagination.coordinates.PageInptu.first: the schema has no input type PageInptu",
				"limits.pagination.coordinates.Query.topUsers: the schema has no input type Query",
			},
		},
		{
			name:      "coordinate of an input field the schema lacks",
			cfg:       with(func(c *config.Limits) { c.Pagination.Coordinates = map[string]int{"PageInput.frist": 20} }),
			useSchema: true,
			want:      []string{"limits.pagination.coordinates.PageInput.frist: the schema has no input field PageInput.frist"},
		},
		{
			name:      "coordinate of an input field that holds no number",
			cfg:       with(func(c *config.Limits) { c.Pagination.Coordinates = map[string]int{"PageInput.after": 20} }),
			useSchema: true,
			want:      []string{"limits.pagination.coordinates.PageInput.after: PageInput.after is of type String, which holds no number to cap"},
		},
		{
			name:      "coordinate of an input field below 1",
			cfg:       with(func(c *config.Limits) { c.Pagination.Coordinates = map[string]int{"PageInput.first": 0} }),
			useSchema: true,
			want:      []string{"limits.pagination.coordinates.PageInput.first: must be at least 1"},
		},
		{
			name: "cap below 1",
			cfg:  with(func(c *config.Limits) { c.Pagination.Arguments = map[string]int{"first": 0} }),
			want: []string{"limits.pagination.arguments.first: must be at least 1"},
		},
		{
			name: "argument name that is not a GraphQL name",
			cfg:  with(func(c *config.Limits) { c.Pagination.Arguments = map[string]int{"first page": 10} }),
			want: []string{`limits.pagination.arguments: "first page" is not an argument name`},
		},
		{
			name: "every problem is reported, each with its key",
			cfg: with(func(c *config.Limits) {
				c.MaxListLength = 0
				c.MaxVariablesBytes = 1
				c.MaxVariablesDepth = 0
				c.Pagination.Coordinates = map[string]int{"Query.topUsers.first": -1}
			}),
			useSchema: true,
			want: []string{
				"limits.max_list_length: must be at least 1",
				"limits.max_variables_bytes: must be at least 2",
				"limits.max_variables_depth: must be at least 1",
				"limits.pagination.coordinates.Query.topUsers.first: must be at least 1",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := schema
			if !tc.useSchema {
				s = nil
			}
			l, err := limits.New(tc.cfg, s)
			if len(tc.want) == 0 {
				if err != nil || l == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New accepted the configuration")
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("New error:\n%s\nwant:\n%s", err, strings.Join(tc.want, "\n"))
			}
		})
	}
}
