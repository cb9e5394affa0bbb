"use strict";

throw new TypeError("self-test exception");
