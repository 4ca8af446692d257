// Placeholder: replaced as the JuneStub module is built.
