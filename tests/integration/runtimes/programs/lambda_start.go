package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	switch req.RawPath {
	case "/fail":
		return events.APIGatewayV2HTTPResponse{}, errors.New("secret detail")
	case "/panic":
		panic("boom")
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	body := fmt.Sprintf(`{"path": %q, "x": %q, "id": %q, "arn": %q, "left_ms": %d, "region": %q, "name": %q}`,
		req.RawPath, req.QueryStringParameters["x"], lc.AwsRequestID, lc.InvokedFunctionArn,
		time.Until(deadline).Milliseconds(), os.Getenv("AWS_REGION"), lambdacontext.FunctionName)
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 201,
		Headers:    map[string]string{"content-type": "application/json", "x-go": "yes"},
		Body:       body,
	}, nil
}

func main() { lambda.Start(handle) }
