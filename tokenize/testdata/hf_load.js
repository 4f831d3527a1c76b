// Loads each tokenizer.json named on the command line with Hugging Face tokenizers (the npm
// package, a binding of the Rust library) and prints one line per file: "ok" or
// "error: " and Hugging Face's message.
// Usage: NODE_PATH=tools/peers/node_modules node hf_load.js a.json b.json ...
const { Tokenizer } = require('tokenizers');

for (const path of process.argv.slice(2)) {
  try {
    Tokenizer.fromFile(path);
    console.log('ok');
  } catch (err) {
    console.log('error: ' + String(err.message || err).replace(/\n/g, ' '));
  }
}
