module urumi.local/images/pause

go 1.26
