// Placeholder: replaced as the RelayOperations module is built.
