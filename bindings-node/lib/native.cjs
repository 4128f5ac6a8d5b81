'use strict'
// The native addon (allowly-core through napi-rs), or an error naming the platform package npm should have installed.
module.exports = require('./platform.cjs').loadNative()
