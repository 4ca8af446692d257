// Placeholder: replaced as the JuneClient module is built.
