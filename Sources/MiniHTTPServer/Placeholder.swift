// Placeholder: replaced as the MiniHTTPServer module is built.
