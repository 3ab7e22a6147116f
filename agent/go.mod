module github.com/couchbase-images/dp-agent

go 1.26
