//! Hand-made components for the tests, written as WAT with the plan laid out in linear memory by
//! the canonical ABI. They let a test return exactly what a hostile guest could (a name index out
//! of range, a NaN, a plan of any shape) without a compiler, and they cover the refusal cases
//! that need no guest code at all (a core module, a `wasi:http` import, a wrong version).

/// A value as the guest lays it out.
#[derive(Clone, Debug)]
pub enum RawValue {
    Float(f64),
    Int(i64),
    Text(String),
    Floats(Vec<f64>),
    Flag(bool),
}

#[derive(Clone, Debug)]
pub enum RawCriterion {
    Equals(RawValue),
    Within(f64, f64),
    Between(f64, f64),
}

#[derive(Clone, Debug)]
pub enum RawStep {
    Setpoint {
        channel: u32,
        value: RawValue,
        readback: Option<u32>,
        tolerance: Option<f64>,
        settle_ms: Option<u32>,
    },
    Check {
        channel: u32,
        criterion: RawCriterion,
        timeout_ms: Option<u32>,
    },
    Action {
        device: u32,
        command: u32,
        args: Vec<(u32, RawValue)>,
        timeout_ms: Option<u32>,
    },
}

/// What the WAT guest's `resolve` does.
#[derive(Clone, Debug)]
pub enum Behaviour {
    Plan {
        names: Vec<String>,
        steps: Vec<RawStep>,
    },
    InvalidParams(String),
    Failed(String),
    /// Loops forever without calling anything.
    Loop,
    /// Executes `unreachable`.
    Trap,
    /// Calls itself without end, on the wasm stack.
    Recurse,
}

/// The memory image: data laid out from address 8 upwards (0 stays a null pointer).
struct Image {
    bytes: Vec<u8>,
}

impl Image {
    fn alloc(&mut self, size: usize, align: usize) -> usize {
        let at = self.bytes.len().div_ceil(align) * align;
        self.bytes.resize(at + size, 0);
        at
    }
    fn put(&mut self, at: usize, data: &[u8]) {
        self.bytes[at..at + data.len()].copy_from_slice(data);
    }
    fn u32(&mut self, at: usize, v: u32) {
        self.put(at, &v.to_le_bytes());
    }
    fn u8(&mut self, at: usize, v: u8) {
        self.put(at, &[v]);
    }
    fn string(&mut self, at: usize, s: &str) {
        let p = self.alloc(s.len(), 1);
        self.put(p, s.as_bytes());
        self.u32(at, p as u32);
        self.u32(at + 4, s.len() as u32);
    }
    fn list(&mut self, at: usize, len: usize, elem_size: usize, align: usize) -> usize {
        let p = self.alloc(len * elem_size, align);
        self.u32(at, p as u32);
        self.u32(at + 4, len as u32);
        p
    }
    /// value: variant, size 16, align 8, payload at 8.
    fn value(&mut self, at: usize, v: &RawValue) {
        match v {
            RawValue::Float(x) => {
                self.u8(at, 0);
                self.put(at + 8, &x.to_le_bytes());
            }
            RawValue::Int(i) => {
                self.u8(at, 1);
                self.put(at + 8, &i.to_le_bytes());
            }
            RawValue::Text(s) => {
                self.u8(at, 2);
                self.string(at + 8, s);
            }
            RawValue::Floats(xs) => {
                self.u8(at, 3);
                let p = self.list(at + 8, xs.len(), 8, 8);
                for (i, x) in xs.iter().enumerate() {
                    self.put(p + 8 * i, &x.to_le_bytes());
                }
            }
            RawValue::Flag(b) => {
                self.u8(at, 4);
                self.u8(at + 8, *b as u8);
            }
        }
    }
    /// option<u32>: size 8, align 4.
    fn opt_u32(&mut self, at: usize, v: Option<u32>) {
        if let Some(v) = v {
            self.u8(at, 1);
            self.u32(at + 4, v);
        }
    }
    /// option<f64>: size 16, align 8.
    fn opt_f64(&mut self, at: usize, v: Option<f64>) {
        if let Some(v) = v {
            self.u8(at, 1);
            self.put(at + 8, &v.to_le_bytes());
        }
    }
    /// step: variant, size 64, align 8, payload at 8.
    fn step(&mut self, at: usize, s: &RawStep) {
        let p = at + 8;
        match s {
            RawStep::Setpoint {
                channel,
                value,
                readback,
                tolerance,
                settle_ms,
            } => {
                self.u8(at, 0);
                self.u32(p, *channel);
                self.value(p + 8, value);
                self.opt_u32(p + 24, *readback);
                self.opt_f64(p + 32, *tolerance);
                self.opt_u32(p + 48, *settle_ms);
            }
            RawStep::Check {
                channel,
                criterion,
                timeout_ms,
            } => {
                self.u8(at, 1);
                self.u32(p, *channel);
                let c = p + 8;
                match criterion {
                    RawCriterion::Equals(v) => {
                        self.u8(c, 0);
                        self.value(c + 8, v);
                    }
                    RawCriterion::Within(a, b) | RawCriterion::Between(a, b) => {
                        let tag = if matches!(criterion, RawCriterion::Within(..)) {
                            1
                        } else {
                            2
                        };
                        self.u8(c, tag);
                        self.put(c + 8, &a.to_le_bytes());
                        self.put(c + 16, &b.to_le_bytes());
                    }
                }
                self.opt_u32(p + 32, *timeout_ms);
            }
            RawStep::Action {
                device,
                command,
                args,
                timeout_ms,
            } => {
                self.u8(at, 2);
                self.u32(p, *device);
                self.u32(p + 4, *command);
                // tuple<u32, value>: size 24, align 8, value at 8.
                let l = self.list(p + 8, args.len(), 24, 8);
                for (i, (n, v)) in args.iter().enumerate() {
                    self.u32(l + 24 * i, *n);
                    self.value(l + 24 * i + 8, v);
                }
                self.opt_u32(p + 16, *timeout_ms);
            }
        }
    }
}

/// The types of the world, exported so the functions that use them are valid exports.
const TYPES: &str = r#"
  (type $value' (variant (case "float" float64) (case "int" s64) (case "text" string) (case "floats" (list float64)) (case "flag" bool)))
  (export $value "value" (type $value'))
  (type $band' (record (field "target" float64) (field "tolerance" float64)))
  (export $band "tolerance-band" (type $band'))
  (type $range' (record (field "low" float64) (field "high" float64)))
  (export $range "range" (type $range'))
  (type $criterion' (variant (case "equals" $value) (case "within" $band) (case "between" $range)))
  (export $criterion "criterion" (type $criterion'))
  (type $setpoint' (record (field "channel" u32) (field "value" $value) (field "readback" (option u32)) (field "tolerance" (option float64)) (field "settle-ms" (option u32))))
  (export $setpoint "setpoint" (type $setpoint'))
  (type $check' (record (field "channel" u32) (field "criterion" $criterion) (field "timeout-ms" (option u32))))
  (export $check "check" (type $check'))
  (type $action' (record (field "device" u32) (field "command" u32) (field "args" (list (tuple u32 $value))) (field "timeout-ms" (option u32))))
  (export $action "action" (type $action'))
  (type $step' (variant (case "setpoint" $setpoint) (case "check" $check) (case "action" $action)))
  (export $step "step" (type $step'))
  (type $plan' (record (field "names" (list string)) (field "steps" (list $step))))
  (export $plan "plan" (type $plan'))
  (type $param-spec' (record (field "name" string) (field "kind" string) (field "default" (option $value)) (field "doc" string)))
  (export $param-spec "param-spec" (type $param-spec'))
  (type $info' (record (field "name" string) (field "version" string) (field "doc" string) (field "params" (list $param-spec))))
  (export $info "info" (type $info'))
  (type $resolve-error' (variant (case "invalid-params" string) (case "failed" string)))
  (export $resolve-error "resolve-error" (type $resolve-error'))
"#;

fn escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// A component implementing the world whose `describe` names it `name` and whose `resolve`
/// behaves as told, whatever the parameters.
pub fn procedure(name: &str, behaviour: &Behaviour) -> Vec<u8> {
    let mut img = Image { bytes: vec![0; 8] };
    // describe's return area: info, size 32, align 4.
    let info = img.alloc(32, 4);
    img.string(info, name);
    img.string(info + 8, "0.0.1");
    img.string(info + 16, "a hand-made test component");
    img.list(info + 24, 0, 48, 8);
    // resolve's return area: result<plan, resolve-error>, size 20, align 4, payload at 4.
    let result = img.alloc(20, 4);
    let body = match behaviour {
        Behaviour::Plan { names, steps } => {
            img.u8(result, 0);
            let n = img.list(result + 4, names.len(), 8, 4);
            for (i, s) in names.iter().enumerate() {
                img.string(n + 8 * i, s);
            }
            let s = img.list(result + 12, steps.len(), 64, 8);
            for (i, step) in steps.iter().enumerate() {
                img.step(s + 64 * i, step);
            }
            format!("i32.const {result}")
        }
        Behaviour::InvalidParams(m) | Behaviour::Failed(m) => {
            img.u8(result, 1);
            let tag = if matches!(behaviour, Behaviour::InvalidParams(_)) {
                0
            } else {
                1
            };
            img.u8(result + 4, tag);
            img.string(result + 8, m);
            format!("i32.const {result}")
        }
        Behaviour::Loop => "(loop $l (br $l)) unreachable".to_string(),
        Behaviour::Trap => "unreachable".to_string(),
        Behaviour::Recurse => "(call $deeper (i64.const 0)) i32.wrap_i64".to_string(),
    };
    let heap = img.bytes.len().div_ceil(16) * 16 + 16;
    let pages = (heap + (1 << 16)).div_ceil(1 << 16);
    let wat = format!(
        r#"(component
  {TYPES}
  (core module $m
    (memory (export "memory") {pages})
    (global $heap (mut i32) (i32.const {heap}))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $heap (i32.add (local.get $p) (local.get 3)))
      (local.get $p))
    (func (export "describe") (result i32) i32.const {info})
    (func $deeper (param i64) (result i64)
      (i64.add (call $deeper (i64.add (local.get 0) (i64.const 1))) (local.get 0)))
    (func (export "resolve") (param i32 i32) (result i32) {body})
    (data (i32.const 0) "{data}"))
  (core instance $i (instantiate $m))
  (func $describe (result $info)
    (canon lift (core func $i "describe") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))))
  (func $resolve (param "params" (list (tuple string $value))) (result (result $plan (error $resolve-error)))
    (canon lift (core func $i "resolve") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))))
  (export "describe" (func $describe))
  (export "resolve" (func $resolve))
)"#,
        data = escape(&img.bytes),
    );
    wat::parse_str(&wat).expect("the test WAT is valid")
}

/// A component that only imports an (empty) instance named `import`.
pub fn importing(import: &str) -> Vec<u8> {
    wat::parse_str(format!(r#"(component (import "{import}" (instance)))"#)).expect("valid WAT")
}

/// A component whose `describe` and `resolve` are functions of the wrong type.
pub fn mistyped_exports() -> Vec<u8> {
    wat::parse_str(
        r#"(component
  (core module $m (func (export "f") (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (func $f (result u32) (canon lift (core func $i "f")))
  (export "describe" (func $f))
  (export "resolve" (func $f)))"#,
    )
    .expect("valid WAT")
}

/// A component with no exports at all.
pub fn empty_component() -> Vec<u8> {
    wat::parse_str("(component)").expect("valid WAT")
}

/// A core module (not a component).
pub fn core_module() -> Vec<u8> {
    wat::parse_str(r#"(module (func (export "resolve")))"#).expect("valid WAT")
}

/// Deterministic noise that is not wasm.
pub fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
