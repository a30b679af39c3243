// The polyrpc browser console.
