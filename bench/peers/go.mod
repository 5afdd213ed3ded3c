module lambdaclone.invalid/bench/peers

go 1.22
