"use strict";

console.error("self-test console error", 42);
