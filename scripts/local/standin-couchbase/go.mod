module github.com/couchbase-images/standin-couchbase

go 1.26
