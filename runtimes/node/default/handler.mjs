// lambdaclone's default node function (original convention: an Express-style handler).
// The module's default export receives (req, res): req.query holds the query parameters and
// res.status(code).json(value) answers. Replace it with your own code, or export an AWS
// Lambda-style `handler(event, context)` instead.

function handler(req, res) {
  res.status(200).json({ message: 'Hello from lambdaclone (node)!', params: req.query });
}

export default handler;
