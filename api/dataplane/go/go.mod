module lambdaclone.invalid/dataplane

go 1.22
