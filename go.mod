module github.com/gqlguard/gqlguard

go 1.26

require (
	github.com/graph-gophers/graphql-go v1.11.0
	go.yaml.in/yaml/v3 v3.0.4
)
