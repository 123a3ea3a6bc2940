module github.com/gqlguard/gqlguard

go 1.26

require (
	github.com/graph-gophers/graphql-go v1.11.0
	go.yaml.in/yaml/v3 v3.0.5
)

require (
	github.com/agnivade/levenshtein v1.2.2 // indirect
	github.com/vektah/gqlparser/v2 v2.5.64 // indirect
)
