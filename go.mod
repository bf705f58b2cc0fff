module github.com/tripleo-go/tripleo

go 1.26
